{#- A DWD detail model holds exactly one row per ODS row of the run day (every day without one): a join that
    adds a row (a key matched twice) or drops one fails. The key's uniqueness itself is the ODS load's: the loader
    removes duplicates and quarantines conflicts, and the gate on the ODS table checks it once. -#}
{% test same_rows_as_ods(model, ods_table) %}
with counts as (
    select
        (select count(*) from {{ model }} where {{ in_run_period('dt') }}) as model_rows,
        (select count(*) from {{ ods_table }} where {{ on_run_day('ts', 'dt') }}) as ods_rows
)

select * from counts
where model_rows <> ods_rows
{% endtest %}
