-- Fleet-wide metrics per day (see macro dws_rollup).
{{ dws_rollup([], 'day') }}
