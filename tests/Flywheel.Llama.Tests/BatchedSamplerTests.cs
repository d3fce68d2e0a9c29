using Flywheel.Llama.Sampling;

namespace Flywheel.Llama.Tests;

public class BatchedSamplerTests
{
    private static readonly string[] Prompts =
    [
        "What is 2 + 3?", "Name a colour.", "The quick brown fox", "Once upon a time", "ünïcödé 🦙 prompt", "x",
    ];

    private static LlamaModel Model => TestModels.PeakedModel;

    private static GenerationRequest Request(string prompt, int k, SamplingOptions sampling, ulong seed = 42) => new()
    {
        PromptTokens = Model.Vocabulary.Tokenize(prompt, addSpecial: true),
        Candidates = k,
        Sampling = sampling,
        Seed = seed,
        Tag = prompt,
    };

    private static async Task<Dictionary<string, GenerationResult>> Generate(BatchedSamplerOptions options, IEnumerable<GenerationRequest> requests)
        => (await GenerateCounted(options, requests)).Results;

    private static async Task<(Dictionary<string, GenerationResult> Results, SamplerStatistics Statistics)> GenerateCounted(BatchedSamplerOptions options, IEnumerable<GenerationRequest> requests)
    {
        using var sampler = new BatchedSampler(Model, options with { Threads = 1 });
        var results = new Dictionary<string, GenerationResult>();
        await foreach (var r in sampler.GenerateAsync(requests)) results.Add((string)r.Request.Tag!, r);
        return (results, sampler.Statistics);
    }

    [Fact]
    public async Task Greedy_batched_candidates_equal_one_at_a_time_outputs()
    {
        var greedy = SamplingOptions.Greedy with { MaxNewTokens = 40 };
        var batched = await Generate(new BatchedSamplerOptions { Sequences = 16, ContextPerSequence = 256, BatchTokens = 64 },
            Prompts.Select(p => Request(p, 4, greedy)));
        foreach (var prompt in Prompts)
        {
            var single = await Generate(new BatchedSamplerOptions { Sequences = 1, ContextPerSequence = 256, BatchTokens = 64 },
                [Request(prompt, 1, greedy)]);
            var expected = single[prompt].Candidates[0];
            Assert.Equal(4, batched[prompt].Candidates.Count);
            foreach (var c in batched[prompt].Candidates)
            {
                Assert.Equal(expected.Tokens, c.Tokens);
                Assert.Equal(expected.Text, c.Text);
            }
        }
    }

    [Fact]
    public async Task A_fixed_seed_gives_the_same_samples_every_run_and_another_seed_differs()
    {
        var sampling = new SamplingOptions { Temperature = 1.0f, TopK = 0, TopP = 1, MinP = 0, MaxNewTokens = 32 };
        var options = new BatchedSamplerOptions { Sequences = 12, ContextPerSequence = 256, BatchTokens = 96 };
        var first = await Generate(options, Prompts.Select(p => Request(p, 4, sampling, seed: 5)));
        var second = await Generate(options, Prompts.Select(p => Request(p, 4, sampling, seed: 5)));
        var other = await Generate(options, Prompts.Select(p => Request(p, 4, sampling, seed: 6)));
        foreach (var p in Prompts)
            Assert.Equal(first[p].Candidates.Select(c => c.Tokens), second[p].Candidates.Select(c => c.Tokens));
        Assert.Contains(Prompts, p => !first[p].Candidates.Select(c => c.Tokens).SequenceEqual(other[p].Candidates.Select(c => c.Tokens), new SeqComparer()));
        // Candidates of one prompt differ from each other: each has its own seed.
        Assert.Contains(Prompts, p => first[p].Candidates.Select(c => string.Join(',', c.Tokens)).Distinct().Count() > 1);
    }

    [Fact]
    public async Task Sharing_the_prompt_KV_gives_the_same_candidates_as_evaluating_the_prompt_per_candidate()
    {
        var sampling = new SamplingOptions { Temperature = 0.9f, MaxNewTokens = 32 };
        var shared = await Generate(new BatchedSamplerOptions { Sequences = 16, ContextPerSequence = 256, BatchTokens = 128, SharePromptKv = true },
            Prompts.Select(p => Request(p, 5, sampling)));
        var separate = await Generate(new BatchedSamplerOptions { Sequences = 16, ContextPerSequence = 256, BatchTokens = 128, SharePromptKv = false },
            Prompts.Select(p => Request(p, 5, sampling)));
        foreach (var p in Prompts)
            Assert.Equal(separate[p].Candidates.Select(c => c.Tokens), shared[p].Candidates.Select(c => c.Tokens));
    }

    [Fact]
    public async Task Candidates_do_not_depend_on_what_else_is_in_flight()
    {
        // Requests of different K and lengths finish at different times, so slots free up between busy ones and are
        // reused out of order, and candidates above a freed slot move down into it, their KV copied over.
        var requests = Enumerable.Range(0, 12).Select(i => Request($"{Prompts[i % Prompts.Length]} #{i}", 1 + i % 4,
            new SamplingOptions { Temperature = 1.0f, MaxNewTokens = 3 + 7 * i % 23 }, (ulong)i)).ToList();
        foreach (bool share in new[] { true, false })
        {
            var (together, statistics) = await GenerateCounted(new BatchedSamplerOptions { Sequences = 9, ContextPerSequence = 256, BatchTokens = 48, SharePromptKv = share }, requests);
            Assert.True(statistics.Moves > 5, $"{statistics.Moves} candidates moved: the test should move some");
            Assert.True(statistics.TokensDecoded > statistics.Decodes * 2, $"{statistics}");
            foreach (var r in requests)
            {
                var alone = await Generate(new BatchedSamplerOptions { Sequences = r.Candidates, ContextPerSequence = 256, BatchTokens = 48, SharePromptKv = share }, [r]);
                Assert.Equal(alone[(string)r.Tag!].Candidates.Select(c => c.Tokens), together[(string)r.Tag!].Candidates.Select(c => c.Tokens));
            }
        }
    }

    [Fact]
    public async Task Prompts_sharing_a_prefix_with_one_in_flight_reuse_its_KV_and_generate_what_they_generate_alone()
    {
        // A few-shot prefix, then each request's own question; one prompt repeats another, one is another's prefix.
        const string shots = "Q: What is 1 + 1? A: 2. Q: What is 2 + 2? A: 4. Q: What is 3 + 3? A: 6. ";
        var prompts = new[] { "Q: What is 4 + 5?", "Q: Name a colour.", "Q: What is 4 + 5?", "Q: Name", "Q: Once upon a time" }
            .Select((q, i) => (Tag: $"{i}: {q}", Text: shots + q)).ToList();
        var requests = prompts.Select((p, i) => Request(p.Text, 2, new SamplingOptions { Temperature = 1.0f, MaxNewTokens = 16 + 4 * i }, (ulong)i) with { Tag = p.Tag }).ToList();
        int shotTokens = Model.Vocabulary.Tokenize(shots, addSpecial: true).Length;
        Assert.True(shotTokens > PromptPrefix.MinimumLength);
        var (together, statistics) = await GenerateCounted(new BatchedSamplerOptions { Sequences = 10, ContextPerSequence = 256, BatchTokens = 64 }, requests);
        // Every request but the first finds the few-shot prefix in flight.
        Assert.True(statistics.ReusedPromptTokens >= (requests.Count - 1) * (shotTokens - 1), $"{statistics.ReusedPromptTokens} prompt tokens reused");
        foreach (var r in requests)
        {
            var alone = await Generate(new BatchedSamplerOptions { Sequences = 2, ContextPerSequence = 256, BatchTokens = 64 }, [r]);
            Assert.Equal(alone[(string)r.Tag!].Candidates.Select(c => c.Tokens), together[(string)r.Tag!].Candidates.Select(c => c.Tokens));
        }
        var separate = await GenerateCounted(new BatchedSamplerOptions { Sequences = 10, ContextPerSequence = 256, BatchTokens = 64, SharePromptKv = false }, requests);
        Assert.Equal(0, separate.Statistics.ReusedPromptTokens);
    }

    [Fact]
    public async Task A_requests_candidates_do_not_depend_on_how_its_prompt_is_split_across_decodes()
    {
        // The batch's room decides how much of a prompt one decode takes: 90 tokens whole, or in pieces of 64, 33, 16, 7.
        var r = Request("Q: What is 1 + 1? A: 2. Q: What is 2 + 2? A: 4. Q: What is 3 + 3? A: 6. Q: What is 4 + 5?", 2,
            new SamplingOptions { Temperature = 1.0f, MaxNewTokens = 40 }, seed: 3);
        Assert.True(r.PromptTokens.Count > 64);
        var whole = await Generate(new BatchedSamplerOptions { Sequences = 2, ContextPerSequence = 256, BatchTokens = 128 }, [r]);
        foreach (int batch in new[] { 64, 33, 16, 7 })
        {
            var split = await Generate(new BatchedSamplerOptions { Sequences = 2, ContextPerSequence = 256, BatchTokens = batch }, [r]);
            Assert.Equal(whole[(string)r.Tag!].Candidates.Select(c => c.Tokens), split[(string)r.Tag!].Candidates.Select(c => c.Tokens));
        }
    }

    [Fact]
    public async Task More_requests_than_slots_all_complete_with_slots_reused()
    {
        var sampling = new SamplingOptions { MaxNewTokens = 8 };
        var requests = Enumerable.Range(0, 40).Select(i => Request($"prompt {i}", 3, sampling, (ulong)i)).ToList();
        var results = await Generate(new BatchedSamplerOptions { Sequences = 7, ContextPerSequence = 256, BatchTokens = 32 }, requests);
        Assert.Equal(40, results.Count);
        Assert.All(results.Values, r => Assert.Equal([0, 1, 2], r.Candidates.Select(c => c.Index)));
        Assert.All(results.Values.SelectMany(r => r.Candidates), c => Assert.InRange(c.TokenCount, 0, 8));
    }

    [Fact]
    public async Task Max_new_tokens_and_stop_strings_end_candidates_with_their_reason()
    {
        var greedy = SamplingOptions.Greedy with { MaxNewTokens = 24 };
        var plain = (await Generate(new BatchedSamplerOptions { Sequences = 1 }, [Request("Once upon a time", 1, greedy)]))["Once upon a time"].Candidates[0];
        Assert.Equal(FinishReason.Length, plain.FinishReason);
        Assert.Equal(24, plain.TokenCount);

        // Stop at a piece of text the greedy output is known to contain.
        string stop = plain.Text.Substring(plain.Text.Length / 2, 2);
        int cut = plain.Text.IndexOf(stop, StringComparison.Ordinal);
        var stopped = (await Generate(new BatchedSamplerOptions { Sequences = 1 },
            [Request("Once upon a time", 1, greedy with { StopStrings = [stop] })]))["Once upon a time"].Candidates[0];
        Assert.Equal(FinishReason.StopString, stopped.FinishReason);
        Assert.Equal(plain.Text[..cut], stopped.Text);
        Assert.True(stopped.TokenCount < plain.TokenCount);
    }

    [Fact]
    public async Task A_prompt_longer_than_the_context_is_refused_with_a_clear_error()
    {
        var long_ = new GenerationRequest { PromptTokens = Enumerable.Repeat(65, 300).ToArray(), Sampling = new() { MaxNewTokens = 10 }, Tag = "p-1" };
        var e = await Assert.ThrowsAsync<LlamaException>(() => Generate(new BatchedSamplerOptions { Sequences = 2, ContextPerSequence = 256 }, [long_]));
        Assert.Contains("request 'p-1'", e.Message);
        Assert.Contains("exceeds the context of 256", e.Message);
    }

    [Fact]
    public async Task K_beyond_the_sequences_and_bad_tokens_are_refused()
    {
        var options = new BatchedSamplerOptions { Sequences = 4, ContextPerSequence = 256, BatchTokens = 64 };
        await Assert.ThrowsAsync<ArgumentException>(() => Generate(options, [Request("a", 5, new())]));
        await Assert.ThrowsAsync<ArgumentException>(() => Generate(options, [new GenerationRequest { PromptTokens = [99999] }]));
        Assert.Throws<ArgumentException>(() => new BatchedSampler(Model, new BatchedSamplerOptions { Sequences = 64, BatchTokens = 16 }));
    }

    [Fact]
    public async Task Cancellation_stops_generation_and_the_sampler_can_run_again()
    {
        using var sampler = new BatchedSampler(Model, new BatchedSamplerOptions { Sequences = 4, ContextPerSequence = 256, BatchTokens = 64, Threads = 1 });
        using var cts = new CancellationTokenSource();
        var endless = Enumerable.Range(0, 1_000_000).Select(i => Request($"p{i}", 2, new SamplingOptions { MaxNewTokens = 16 }));
        int seen = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in sampler.GenerateAsync(endless, cts.Token))
                if (++seen == 3) await cts.CancelAsync();
        });
        Assert.Equal(3, seen);
        int again = 0;
        await foreach (var _ in sampler.GenerateAsync([Request("again", 2, new SamplingOptions { MaxNewTokens = 4 })])) again++;
        Assert.Equal(1, again);
    }

    [Fact]
    public async Task Cancelling_while_the_next_request_is_still_being_fetched_is_a_cancellation_not_a_failure()
    {
        using var sampler = new BatchedSampler(Model, new BatchedSamplerOptions { Sequences = 4, ContextPerSequence = 256, BatchTokens = 64, Threads = 1 });
        var fetching = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var cts = new CancellationTokenSource();
        var consume = Task.Run(async () =>
        {
            await foreach (var _ in sampler.GenerateAsync(SlowProducer(fetching), cts.Token)) { }
        });
        await fetching.Task; // the first request is generating and the worker waits for the second
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => consume);
    }

    /// <summary>A producer that, like a file reader between two rows, does not see the cancellation at once.</summary>
    private static async IAsyncEnumerable<GenerationRequest> SlowProducer(TaskCompletionSource fetching)
    {
        yield return Request("a long one", 4, new SamplingOptions { MaxNewTokens = 200 });
        fetching.SetResult();
        await Task.Delay(500);
        yield return Request("the next one", 1, new SamplingOptions { MaxNewTokens = 4 });
    }

    private sealed class SeqComparer : IEqualityComparer<IReadOnlyList<int>>
    {
        public bool Equals(IReadOnlyList<int>? x, IReadOnlyList<int>? y) => x!.SequenceEqual(y!);
        public int GetHashCode(IReadOnlyList<int> obj) => obj.Count;
    }
}
