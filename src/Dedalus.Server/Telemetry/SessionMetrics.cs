using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json;
using Dedalus.Server.Errors;

namespace Dedalus.Server.Telemetry;

/// <summary>
/// SSH session creates: how many, by outcome (the new session's status, or the error kind that refused it), and how
/// long each answer took (<c>dedalus.session.create.duration</c>, which includes the hold while a sleeping machine wakes).
/// </summary>
public sealed class SessionMetrics
{
    private readonly Counter<long> _creates;
    private readonly Histogram<double> _createDuration;

    public SessionMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(DedalusMeters.Sessions);
        _creates = meter.CreateCounter<long>("dedalus.session.creates", "{session}", "SSH session creates answered, by outcome: the session's status, or the error that refused it");
        _createDuration = meter.CreateHistogram(
            "dedalus.session.create.duration", "s", "Time to answer an SSH session create, including the hold while its machine wakes", tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DedalusMeters.WaitBuckets });
    }

    /// <summary>Starts timing one create; the wall clock, not the injected one: this measures real work.</summary>
    public static long Start() => Stopwatch.GetTimestamp();

    /// <summary>A create that answered with a session in <paramref name="status"/>.</summary>
    public void Created(long started, string status) => Record(started, status);

    /// <summary>A create refused with <paramref name="kind"/> (nothing stored).</summary>
    public void Refused(long started, ErrorKind kind) => Record(started, JsonNamingPolicy.SnakeCaseLower.ConvertName(kind.ToString()));

    /// <summary>A create that failed for another reason (a store outage, a bug).</summary>
    public void Failed(long started) => Record(started, "error");

    private void Record(long started, string outcome)
    {
        var tag = new KeyValuePair<string, object?>("outcome", outcome);
        _creates.Add(1, tag);
        _createDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, tag);
    }
}
