-- The queue ranks of a day run 1..n without gaps, in descending priority.
select dt
from (
    select dt, queue_rank, priority, lag(priority) over (partition by dt order by queue_rank) as prev_priority,
        count(*) over (partition by dt) as n, max(queue_rank) over (partition by dt) as max_rank
    from {{ ref('ads_case_queue') }}
)
where max_rank != n or priority > prev_priority
group by dt
