namespace Flywheel.Training;

/// <summary>A training's loss stopped being a number: a failure of the run (its settings), not bad input.</summary>
public sealed class TrainingDivergedException(string message) : Exception(message);
