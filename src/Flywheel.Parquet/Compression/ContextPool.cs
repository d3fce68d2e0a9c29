using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace Flywheel.Parquet.Compression;

/// <summary>
/// Native codec contexts for reuse by whichever thread needs one next. It keeps at most two per core; one returned
/// beyond that is freed at once.
/// </summary>
internal sealed class ContextPool<T>(Func<T> create) where T : SafeHandle
{
    private readonly ConcurrentBag<T> _idle = [];
    private readonly int _capacity = 2 * Environment.ProcessorCount;

    public T Rent() => _idle.TryTake(out var context) ? context : create();

    public void Return(T context)
    {
        if (_idle.Count < _capacity)
        {
            _idle.Add(context);
        }
        else
        {
            context.Dispose();
        }
    }
}
