-- 10 Hz planner debug with the shape of the candidate distribution: normalised entropy of
-- p_i = s_i / sum(s) (1 = flat; rounded to 1e-9 so that thresholds compare exactly) and the top-1 minus top-2
-- score margin; commanded steering kept.
-- top-2 without sorting the list: the top-1 again when it occurs twice, else the largest score below it.
with planner as (
    select * from {{ source('ods', 'ods_planner_debug') }}
    where {{ on_run_day('ts', 'dt') }}
),

shaped as (
    select
        vehicle_id,
        ts,
        commanded_steering_deg,
        {{ list_length('candidate_scores') }} as n_candidates,
        {{ list_total('candidate_scores') }} as score_sum,
        {{ list_maximum('candidate_scores') }} as top1_score,
        candidate_scores
    from planner
)

select
    {{ utc_date('ts') }} as dt,
    vehicle_id,
    ts,
    commanded_steering_deg,
    n_candidates,
    case
        when n_candidates >= 2 and score_sum > 0 then
            round(greatest(0.0, -{{ list_total(list_map(
                'candidate_scores',
                lambda_fn(['s'], 'case when s > 0 then (s / score_sum) * ln(s / score_sum) else 0 end')
            )) }} / ln(n_candidates)), 9)
    end as norm_entropy,
    case
        when n_candidates >= 2 then round(top1_score - case
            when {{ list_length(list_where('candidate_scores', lambda_fn(['s'], 's = top1_score'))) }} >= 2
                then top1_score
            else {{ list_maximum(list_where('candidate_scores', lambda_fn(['s'], 's < top1_score'))) }}
        end, 9)
    end as top_margin
from shaped
