{#- Lane raster (dwd_lane_cell): square cells of lane_cell_m() metres in the site frame; a position's cell is
    (floor(x / size), floor(y / size)). -#}
{% macro lane_cell_m() -%}
    2.0
{%- endmacro %}

{% macro lane_cell(coordinate_m) -%}
    floor(({{ coordinate_m }}) / {{ lane_cell_m() }})::integer
{%- endmacro %}
