using Dedalus.Server.Http;

namespace Dedalus.Server.Tests;

/// <summary>The edge's reading of a raw request target (a unit test of the logic; PathTrickTests sends them for real).</summary>
public sealed class RequestTargetTests
{
    [Theory]
    [InlineData("/")]
    [InlineData("*")]
    [InlineData("/v1/machines")]
    [InlineData("/v1/machines/dm-01a2358e-c15d-7983-92a1-d4da25e51ec8/ssh/ss-0123abcd")]
    [InlineData("/v1/machines?cursor=a/../b&limit=%00")] // the query is the handlers' to judge
    [InlineData("/v1/machines/a.b")]
    [InlineData("/v1/machines/..a")]
    [InlineData("/v1/machines/a%2e")]
    [InlineData("/v1/machines/%41%42")]
    [InlineData("/v1/machines/%c3%a9")]
    [InlineData("http://127.0.0.1:8080/v1/machines")]
    [InlineData("http://127.0.0.1:8080")]
    [InlineData("http://127.0.0.1:8080?x=/../")]
    public void A_target_that_names_what_it_says_passes(string target) => Assert.Null(RequestTarget.FindProblem(target));

    [Theory]
    [InlineData("/v1/machines/..", "dot segment ('..')")]
    [InlineData("/v1/machines/.", "dot segment ('.')")]
    [InlineData("/v1/machines/%2e%2e/x", "dot segment ('%2e%2e')")]
    [InlineData("/v1/machines/%2E%2e", "dot segment ('%2E%2e')")]
    [InlineData("/v1/machines/.%2E", "dot segment ('.%2E')")]
    [InlineData("/v1/machines/%2e", "dot segment ('%2e')")]
    [InlineData("/../v1/machines", "dot segment ('..')")]
    [InlineData("http://h/v1/machines/m/ssh/..?x=1", "dot segment ('..')")]
    [InlineData("/v1/machines/a%2fb", "encoded slash ('a%2fb')")]
    [InlineData("/v1/machines/a%2F", "encoded slash")]
    [InlineData("/v1/machines/a%5cb", "encoded backslash")]
    [InlineData("/v1/machines/a\\b", "backslash ('a\\b')")]
    [InlineData("/v1//machines", "empty segment ('//')")]
    [InlineData("//v1/machines", "empty segment ('//')")]
    [InlineData("/v1/machines/", "ends with '/'")]
    [InlineData("/v1/machines/a%00", "control character (U+0000)")]
    [InlineData("/v1/machines/a%0a", "control character (U+000A)")]
    [InlineData("/v1/machines/a\u007f", "control character (U+007F)")]
    [InlineData("/v1/machines/a%c2%85", "control character (U+0085)")]
    [InlineData("/v1/machines/%c3%28", "not UTF-8")]
    [InlineData("/v1/machines/%ff", "not UTF-8")]
    [InlineData("/v1/machines/%zz", "does not start a percent-encoded byte")]
    [InlineData("/v1/machines/a%2", "does not start a percent-encoded byte")]
    [InlineData("/v1/machines/a%", "does not start a percent-encoded byte")]
    [InlineData("/v1/machines/\u00e9", "not ASCII")]
    public void A_target_whose_path_could_name_another_resource_is_refused_naming_why(string target, string named)
    {
        var problem = RequestTarget.FindProblem(target);

        Assert.NotNull(problem);
        Assert.Contains(named, problem, StringComparison.Ordinal);
        Assert.StartsWith("the request path ", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_long_segment_is_quoted_short_and_without_control_characters()
    {
        var problem = RequestTarget.FindProblem("/v1/" + new string('a', 500) + "%01");

        Assert.NotNull(problem);
        Assert.True(problem.Length < 200, problem);
        Assert.DoesNotContain('\u0001', problem);
    }
}
