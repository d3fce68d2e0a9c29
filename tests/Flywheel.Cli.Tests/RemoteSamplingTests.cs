using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Flywheel.Pipeline.Runs;
using Flywheel.Pipeline.Stages;

namespace Flywheel.Cli.Tests;

/// <summary>
/// sampling.backend openai against real llama-server processes (built from llama.cpp's source, see
/// <see cref="LlamaServerBuild"/>) serving the tiny run's policy: runs across two servers, one of them killed mid-round,
/// Flywheel itself killed mid-sample, and endpoints that are misconfigured.
/// </summary>
[Collection(LlamaServerTests.Name)]
public partial class RemoteSamplingTests(LlamaServerBuild build)
{
    private const int K = 4;

    /// <summary>A tiny run whose selection prompts are sampled on <paramref name="endpoints"/>, SFT off (the servers' model is fixed).</summary>
    private static TinyRun RemoteRun(int prompts, int rounds, int partSize, int maxNewTokens, params JsonObject[] endpoints)
    {
        var setup = new TinyRun(prompts, rounds, partSize, maxNewTokens);
        var config = JsonNode.Parse(File.ReadAllText(setup.ConfigPath))!.AsObject();
        var sampling = config["sampling"]!.AsObject();
        sampling["backend"] = "openai";
        sampling["endpoints"] = new JsonArray([.. endpoints]);
        config["sft"]!["enabled"] = false;
        File.WriteAllText(setup.ConfigPath, config.ToJsonString());
        return setup;
    }

    private static JsonObject Endpoint(string url, string model = "policy", int concurrency = 2, string? keyEnv = null) =>
        new() { ["url"] = url, ["model"] = model, ["max_concurrency"] = concurrency, ["api_key_env"] = keyEnv };

    private static string Policy(TinyRun setup) => Path.Combine(setup.Directory, "policy.gguf");

    private static Task<CliRunner.Result> Run(TinyRun setup) => CliRunner.RunAsync("run", "--config", setup.ConfigPath, "--run-dir", setup.RunDir());

    /// <summary>(prompts, failed requests) of each endpoint's summary line in the run's log, for one round.</summary>
    private static Dictionary<string, (int Prompts, int Errors)> EndpointSummaries(string output, int round) =>
        Summary().Matches(output).Where(m => m.Groups["round"].Value == $"{round}")
            .ToDictionary(m => m.Groups["url"].Value, m => (int.Parse(m.Groups["prompts"].Value.Replace(",", "", StringComparison.Ordinal)), int.Parse(m.Groups["errors"].Value)));

    [GeneratedRegex(@"round (?<round>\d+): endpoint (?<url>\S+): (?<prompts>[\d,]+) prompts, [\d,]+ tokens, [\d,]+ tok/s, (?<errors>\d+) failed requests")]
    private static partial Regex Summary();

    /// <summary>Every prompt of the round exactly once in candidates.parquet, each with K candidates whose token ids are its tokens.</summary>
    private static void AssertEveryPromptSampledOnce(TinyRun setup, int round, int prompts)
    {
        string candidates = Path.Combine(setup.RunDir(), $"round-{round:000}", "candidates.parquet");
        var perPrompt = ParquetJudge.DuckDb(candidates, "prompt_index, count(*), count(DISTINCT candidate), bool_and(len(token_ids) = tokens), min(len(prompt_token_ids))", "GROUP BY prompt_index ORDER BY prompt_index");
        Assert.Equal(Enumerable.Range(0, prompts).Select(i => (long)i), perPrompt.Select(r => Convert.ToInt64(r[0])));
        Assert.All(perPrompt, r =>
        {
            Assert.Equal((long)K, Convert.ToInt64(r[1]));
            Assert.Equal((long)K, Convert.ToInt64(r[2]));
            Assert.Equal(true, r[3]);
            Assert.True(Convert.ToInt64(r[4]) > 0);
        });
    }

    [Fact]
    public async Task Two_rounds_on_two_servers_write_sft_rows_duckdb_reads()
    {
        using var a = await LlamaServer.StartAsync(build, Policy(new TinyRun()));
        var setup = RemoteRun(24, rounds: 2, partSize: 3, maxNewTokens: 6, Endpoint(a.Url, concurrency: 1));
        using var b = await LlamaServer.StartAsync(build, Policy(setup));
        // Both serve a policy made with the same seed: the tiny run's, byte for byte.
        Assert.Equal(File.ReadAllBytes(Policy(setup)), File.ReadAllBytes(Policy(new TinyRun())));
        var config = JsonNode.Parse(File.ReadAllText(setup.ConfigPath))!.AsObject();
        config["sampling"]!["endpoints"] = new JsonArray(Endpoint(a.Url, concurrency: 1), Endpoint(b.Url, concurrency: 1));
        File.WriteAllText(setup.ConfigPath, config.ToJsonString());

        var r = await Run(setup);
        Assert.True(r.ExitCode == 0, r.Error);
        Assert.Contains($"endpoint {a.Url}: candidates keep the token ids the server sampled", r.Out);
        for (int round = 1; round <= 2; round++)
        {
            var sft = ParquetJudge.DuckDb(Path.Combine(setup.RunDir(), $"round-{round:000}", "sft.parquet"), "prompt_id, completion, len(completion_token_ids), messages[2].role");
            Assert.Equal(24 * 2, sft.Count); // top_n 2 of K per prompt
            Assert.Equal(24, sft.Select(x => x[0]).Distinct().Count());
            Assert.All(sft, x => Assert.Equal("assistant", x[3]));
            AssertEveryPromptSampledOnce(setup, round, 24);
            var summaries = EndpointSummaries(r.Out, round);
            Assert.Equal(24, summaries.Values.Sum(s => s.Prompts));
            Assert.True(summaries[a.Url].Prompts > 0 && summaries[b.Url].Prompts > 0, $"work was not spread: {string.Join(", ", summaries)}");
        }
    }

    [Fact]
    public async Task A_server_killed_mid_round_the_run_finishes_on_the_other_with_every_prompt_once()
    {
        const int prompts = 300;
        using var a = await LlamaServer.StartAsync(build, Policy(new TinyRun()));
        using var b = await LlamaServer.StartAsync(build, Policy(new TinyRun()));
        var setup = RemoteRun(prompts, rounds: 1, partSize: 4, maxNewTokens: 32, Endpoint(a.Url), Endpoint(b.Url));
        var run = Run(setup);
        string parts = Path.Combine(setup.RunDir(), "round-001", "parts");
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (!run.IsCompleted && DateTime.UtcNow < deadline && !(Directory.Exists(parts) && Directory.EnumerateFiles(parts).Any())) await Task.Delay(10);
        a.Kill();
        var r = await run;
        Assert.True(r.ExitCode == 0, r.Error);
        var summaries = EndpointSummaries(r.Out, 1);
        Assert.Equal(prompts, summaries.Values.Sum(s => s.Prompts));
        // The kill landed while sampling went on: requests to the dead server failed, and the other one did the rest.
        Assert.True(summaries[a.Url].Errors > 0, $"no request to the killed server failed: {string.Join(", ", summaries)}");
        Assert.True(summaries[b.Url].Prompts > summaries[a.Url].Prompts, string.Join(", ", summaries));
        AssertEveryPromptSampledOnce(setup, 1, prompts);
        Assert.Equal(prompts * 2, ParquetJudge.DuckDb(Path.Combine(setup.RunDir(), "round-001", "sft.parquet"), "count(*)").Single()[0] is var n ? Convert.ToInt32(n) : 0);
    }

    [Fact]
    public async Task Flywheel_killed_mid_sample_then_the_same_command_samples_every_prompt_once()
    {
        const int prompts = 300;
        using var server = await LlamaServer.StartAsync(build, Policy(new TinyRun()));
        var setup = RemoteRun(prompts, rounds: 1, partSize: 4, maxNewTokens: 32, Endpoint(server.Url));
        string parts = Path.Combine(setup.RunDir(), "round-001", "parts");
        var psi = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "flywheel.dll"), "run", "--config", setup.ConfigPath, "--run-dir", setup.RunDir(), "--quiet"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using (var p = Process.Start(psi)!)
        {
            p.OutputDataReceived += (_, _) => { };
            p.ErrorDataReceived += (_, _) => { };
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            var deadline = DateTime.UtcNow.AddMinutes(3);
            while (!p.HasExited && DateTime.UtcNow < deadline && !(Directory.Exists(parts) && Directory.EnumerateFiles(parts, "part-*.parquet").Count() >= 2)) await Task.Delay(10);
            Assert.False(p.HasExited, $"the run ended (exit {(p.HasExited ? p.ExitCode : 0)}) before it could be killed");
            p.Kill(); // SIGKILL: no cleanup, no flush
            p.WaitForExit();
        }
        Assert.Equal(StageState.Running, RunStore.Open(setup.RunDir()).Manifest.Round(1).Stages[Stage.Sample]);
        Assert.False(File.Exists(Path.Combine(setup.RunDir(), "round-001", "candidates.parquet")));

        var r = await Run(setup);
        Assert.True(r.ExitCode == 0, r.Error);
        var continued = Regex.Match(r.Out, @"round 1: (\d+) prompts already sampled and scored; continuing");
        Assert.True(continued.Success, r.Out);
        int before = int.Parse(continued.Groups[1].Value);
        Assert.InRange(before, 8, prompts - 1);
        // The resumed life sent only the prompts the part files did not hold.
        Assert.Equal(prompts - before, EndpointSummaries(r.Out, 1).Values.Sum(s => s.Prompts));
        AssertEveryPromptSampledOnce(setup, 1, prompts);
    }

    [Fact]
    public async Task The_chat_route_has_the_server_apply_its_template()
    {
        using var server = await LlamaServer.StartAsync(build, Policy(new TinyRun()));
        var setup = RemoteRun(8, rounds: 1, partSize: 3, maxNewTokens: 6, Endpoint(server.Url));
        var config = JsonNode.Parse(File.ReadAllText(setup.ConfigPath))!.AsObject();
        config["sampling"]!["route"] = "chat";
        File.WriteAllText(setup.ConfigPath, config.ToJsonString());
        var r = await Run(setup);
        Assert.True(r.ExitCode == 0, r.Error);
        Assert.Equal(8, EndpointSummaries(r.Out, 1)[server.Url].Prompts);
        AssertEveryPromptSampledOnce(setup, 1, 8);
    }

    private static void AssertStopsBeforeRound1(CliRunner.Result r, TinyRun setup, string expected)
    {
        Assert.Equal(2, r.ExitCode);
        Assert.Single(r.Error.TrimEnd().Split('\n'));
        Assert.True(r.Error.Contains(expected, StringComparison.Ordinal), r.Error);
        Assert.False(Directory.Exists(Path.Combine(setup.RunDir(), "round-001")), "round 1 started");
    }

    [Fact]
    public async Task Bad_endpoints_stop_the_run_before_round_1_with_one_line()
    {
        var noScheme = RemoteRun(4, 1, 2, 6, Endpoint("127.0.0.1:8080/v1"));
        AssertStopsBeforeRound1(await Run(noScheme), noScheme, "$.sampling.endpoints[0].url: must be an absolute http:// or https:// URL");

        var unreachable = RemoteRun(4, 1, 2, 6, Endpoint($"http://127.0.0.1:{LlamaServer.FreePort()}/v1"));
        AssertStopsBeforeRound1(await Run(unreachable), unreachable, "$.sampling.endpoints[0].url: ");
        Assert.Contains("is unreachable", (await Run(unreachable)).Error, StringComparison.Ordinal);

        string keyEnv = "FLYWHEEL_TEST_KEY_" + Guid.NewGuid().ToString("N");
        using var server = await LlamaServer.StartAsync(build, Policy(new TinyRun()), slots: 2, apiKey: "right-key");
        Environment.SetEnvironmentVariable(keyEnv, "right-key");
        try
        {
            var notServed = RemoteRun(4, 1, 2, 6, Endpoint(server.Url, model: "llama-70b", keyEnv: keyEnv));
            AssertStopsBeforeRound1(await Run(notServed), notServed, "$.sampling.endpoints[0].model: 'llama-70b' is not served by " + server.Url + "; it serves 'policy'");

            var noKey = RemoteRun(4, 1, 2, 6, Endpoint(server.Url));
            AssertStopsBeforeRound1(await Run(noKey), noKey, "$.sampling.endpoints[0].api_key_env: " + server.Url + "/models needs an API key (401 Unauthorized)");

            string wrongEnv = keyEnv + "_WRONG";
            Environment.SetEnvironmentVariable(wrongEnv, "wrong-key");
            var wrongKey = RemoteRun(4, 1, 2, 6, Endpoint(server.Url, keyEnv: wrongEnv));
            AssertStopsBeforeRound1(await Run(wrongKey), wrongKey, $"$.sampling.endpoints[0].api_key_env: {server.Url}/models refused the key in {wrongEnv} (401 Unauthorized)");
            Environment.SetEnvironmentVariable(wrongEnv, null);

            var unset = RemoteRun(4, 1, 2, 6, Endpoint(server.Url, keyEnv: keyEnv + "_UNSET"));
            AssertStopsBeforeRound1(await Run(unset), unset, $"$.sampling.endpoints[0].api_key_env: environment variable {keyEnv}_UNSET is not set");

            // The server has 2 slots, and llama-server takes no n above them: the K = 4 candidates need max_n 2.
            var tooMany = RemoteRun(4, 1, 2, 6, Endpoint(server.Url, keyEnv: keyEnv));
            AssertStopsBeforeRound1(await Run(tooMany), tooMany, $"$.sampling.endpoints[0]: {server.Url}/completions answered 400 BadRequest: ");

            // The right key and n: the run goes through on the server that wants them.
            var endpoint = Endpoint(server.Url, keyEnv: keyEnv);
            endpoint["max_n"] = 2;
            var good = RemoteRun(4, 1, 2, 6, endpoint);
            var r = await Run(good);
            Assert.True(r.ExitCode == 0, r.Error);
        }
        finally
        {
            Environment.SetEnvironmentVariable(keyEnv, null);
        }
    }
}
