namespace Flywheel.Training.Optimization;

/// <summary>Linear warmup from 0, then cosine or linear decay to the minimum (or constant).</summary>
internal static class LearningRate
{
    /// <summary>The learning rate of update <paramref name="step"/> (0-based) of <paramref name="totalSteps"/>.</summary>
    internal static double At(TrainingOptions options, int step, int totalSteps)
    {
        double peak = options.LearningRate;
        if (step < options.WarmupSteps) return peak * (step + 1) / options.WarmupSteps;
        if (options.Schedule == LearningRateSchedule.Constant) return peak;
        double min = peak * options.MinLearningRateRatio;
        int decaySteps = Math.Max(1, totalSteps - options.WarmupSteps - 1);
        double progress = Math.Clamp((double)(step - options.WarmupSteps) / decaySteps, 0, 1);
        return options.Schedule == LearningRateSchedule.Cosine
            ? min + (peak - min) * 0.5 * (1 + Math.Cos(Math.PI * progress))
            : peak - (peak - min) * progress;
    }
}
