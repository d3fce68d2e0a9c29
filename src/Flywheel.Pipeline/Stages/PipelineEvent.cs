namespace Flywheel.Pipeline.Stages;

/// <summary>Progress of a run, for the command line to draw: a stage of a round, how far it is, and a rate.</summary>
public sealed record PipelineEvent(int Round, string Stage, long Done, long? Total, string? Message = null, double? TokensPerSecond = null);
