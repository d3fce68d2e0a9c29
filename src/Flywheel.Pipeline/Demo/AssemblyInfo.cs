using System.Runtime.CompilerServices;

// The demo experiment drives the task, corpus and pretraining directly to tune the recommended settings.
[assembly: InternalsVisibleTo("Flywheel.Demo.Experiment")]
