using Flywheel.Pipeline.Sampling.Remote;

namespace Flywheel.Pipeline.Tests.Sampling;

/// <summary>Which endpoint a request goes to: the least loaded healthy one, broken ones only when nothing else is left.</summary>
public class EndpointPoolTests
{
    private static int Pick(params EndpointLoad[] loads) => EndpointPool.Pick(loads);

    [Fact]
    public void The_endpoint_with_the_lowest_share_of_its_concurrency_in_use_is_picked()
    {
        Assert.Equal(1, Pick(new(2, 4, false, false), new(1, 4, false, false)));
        // 3 of 8 in use is less than 1 of 2.
        Assert.Equal(1, Pick(new(1, 2, false, false), new(3, 8, false, false)));
        // A tie goes to the first listed.
        Assert.Equal(0, Pick(new(1, 4, false, false), new(1, 4, false, false)));
    }

    [Fact]
    public void A_full_endpoint_is_passed_over_and_when_all_are_full_the_request_waits()
    {
        Assert.Equal(1, Pick(new(4, 4, false, false), new(7, 8, false, false)));
        Assert.Equal(-1, Pick(new(4, 4, false, false), new(8, 8, false, false)));
    }

    [Fact]
    public void A_broken_endpoint_gets_no_work_while_a_healthy_one_is_left_even_a_busy_one()
    {
        Assert.Equal(1, Pick(new(0, 4, true, false), new(3, 4, false, false)));
        Assert.Equal(-1, Pick(new(0, 4, true, false), new(4, 4, false, false)));
    }

    [Fact]
    public void Where_every_untried_endpoint_is_broken_one_of_them_is_picked_so_the_request_fails_rather_than_waits()
    {
        Assert.Equal(1, Pick(new(0, 4, false, true), new(0, 4, true, false)));
        Assert.Equal(0, Pick(new(0, 4, true, false), new(0, 4, true, false)));
    }

    [Fact]
    public void An_endpoint_the_request_failed_on_is_not_picked_again()
    {
        Assert.Equal(1, Pick(new(0, 4, false, true), new(3, 4, false, false)));
        Assert.Equal(-1, Pick(new(0, 4, false, true), new(0, 4, true, true)));
    }
}
