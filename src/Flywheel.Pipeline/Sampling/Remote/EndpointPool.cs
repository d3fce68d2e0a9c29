namespace Flywheel.Pipeline.Sampling.Remote;

/// <summary>An endpoint's load as <see cref="EndpointPool.Pick"/> weighs it.</summary>
internal readonly record struct EndpointLoad(int Outstanding, int Limit, bool Broken, bool Tried);

/// <summary>
/// Hands out endpoints by outstanding work: each request goes to the healthy endpoint with the lowest share of its
/// concurrency in use, and waits while every one is full. Bounded in flight: at most each endpoint's limit at once.
/// </summary>
internal sealed class EndpointPool(IReadOnlyList<OpenAiEndpoint> endpoints)
{
    private readonly Lock _gate = new();
    private TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public IReadOnlyList<OpenAiEndpoint> Endpoints => endpoints;

    /// <summary>Total requests in flight at most.</summary>
    public int Capacity => endpoints.Sum(e => e.Limit);

    /// <summary>An endpoint not in <paramref name="tried"/> for one request, counted as outstanding until <see cref="Release"/>.</summary>
    public async Task<OpenAiEndpoint> AcquireAsync(IReadOnlySet<OpenAiEndpoint> tried, CancellationToken ct)
    {
        while (true)
        {
            Task released;
            lock (_gate)
            {
                var loads = endpoints.Select(e => new EndpointLoad(e.Outstanding, e.Limit, e.IsBroken, tried.Contains(e))).ToArray();
                int pick = Pick(loads);
                if (pick >= 0)
                {
                    endpoints[pick].Outstanding++;
                    return endpoints[pick];
                }
                released = _released.Task;
            }
            // A broken circuit closes again with time, not with a release: look again after a while either way.
            await Task.WhenAny(released, Task.Delay(TimeSpan.FromSeconds(1), ct)).WaitAsync(ct);
        }
    }

    public void Release(OpenAiEndpoint endpoint)
    {
        lock (_gate)
        {
            endpoint.Outstanding--;
            var released = _released;
            _released = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            released.SetResult();
        }
    }

    /// <summary>
    /// The endpoint to use, or -1 to wait: an untried healthy one with room, least loaded first (the first listed on a
    /// tie); where every untried one is broken, a broken one with room — it fails fast, so a request that nothing can
    /// take fails rather than waits for ever. Also -1 when every endpoint has been tried.
    /// </summary>
    public static int Pick(ReadOnlySpan<EndpointLoad> loads)
    {
        bool anyHealthy = false;
        int best = -1, fallback = -1;
        double bestShare = double.MaxValue;
        for (int i = 0; i < loads.Length; i++)
        {
            var l = loads[i];
            if (l.Tried) continue;
            if (!l.Broken) anyHealthy = true;
            if (l.Outstanding >= l.Limit) continue;
            if (l.Broken)
            {
                if (fallback < 0) fallback = i;
                continue;
            }
            double share = (double)l.Outstanding / l.Limit;
            if (share < bestShare) (best, bestShare) = (i, share);
        }
        return best >= 0 ? best : anyHealthy ? -1 : fallback;
    }
}
