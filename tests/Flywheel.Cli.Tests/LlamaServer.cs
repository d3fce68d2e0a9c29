using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Flywheel.Cli.Tests;

/// <summary>A llama-server process serving a GGUF on 127.0.0.1 at a port chosen at run time, under the model name "policy".</summary>
internal sealed class LlamaServer : IDisposable
{
    private readonly Process _process;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _log = new();

    private LlamaServer(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    /// <summary>The OpenAI base URL, as the config takes it.</summary>
    public string Url => $"http://127.0.0.1:{Port}/v1";

    public string Log => string.Join('\n', _log);

    public static async Task<LlamaServer> StartAsync(LlamaServerBuild build, string model, int slots = 8, string? apiKey = null)
    {
        // llama-server cannot bind port 0 and say which it got: take one the system hands out, free it, pass it on.
        int port = FreePort();
        var psi = new ProcessStartInfo(build.Executable, ["-m", model, "--alias", "policy", "-np", $"{slots}", "-c", $"{slots * 256}", "-t", "1", "-tb", "1",
            "--host", "127.0.0.1", "--port", $"{port}", .. apiKey is null ? Array.Empty<string>() : ["--api-key", apiKey]])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        psi.Environment["LD_LIBRARY_PATH"] = build.Directory;
        var server = new LlamaServer(Process.Start(psi)!, port);
        server._process.OutputDataReceived += (_, e) => { if (e.Data is not null) server._log.Enqueue(e.Data); };
        server._process.ErrorDataReceived += (_, e) => { if (e.Data is not null) server._log.Enqueue(e.Data); };
        server._process.BeginOutputReadLine();
        server._process.BeginErrorReadLine();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (DateTime.UtcNow < deadline)
        {
            if (server._process.HasExited)
            {
                server.Dispose();
                throw new InvalidOperationException($"llama-server exited ({server._process.ExitCode}): {server.Log}");
            }
            try
            {
                using var health = await http.GetAsync($"http://127.0.0.1:{port}/health");
                if (health.IsSuccessStatusCode) return server;
            }
            catch (HttpRequestException) { } // not listening yet
            catch (TaskCanceledException) { }
            await Task.Delay(100);
        }
        server.Dispose();
        throw new TimeoutException($"llama-server on port {port} was not healthy within 2 minutes: {server.Log}");
    }

    public static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>SIGKILL, as a crashed or lost machine would go.</summary>
    public void Kill()
    {
        if (!_process.HasExited) _process.Kill();
        _process.WaitForExit();
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }
}
