-- Machine networking. network_address: the machine's IPv4 address, given by the server on the machine's first
-- provisioning and kept for its life (NULL: none yet); unique among machines that are not destroyed.
-- network_policy: the egress policy as the wire's `network` JSON object without the address (NULL: the default, open).
ALTER TABLE machines ADD COLUMN network_address TEXT;
ALTER TABLE machines ADD COLUMN network_policy TEXT;
CREATE UNIQUE INDEX machines_network_address ON machines(network_address) WHERE network_address IS NOT NULL AND phase <> 'destroyed';
