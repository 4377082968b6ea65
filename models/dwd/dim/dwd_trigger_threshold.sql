-- Every trigger parameter resolved for every vehicle class: a class row overrides the '*' row. Class '*'
-- itself carries the defaults, for vehicles missing from the registry.
with definitions as (
    select * from {{ ref('trigger_definitions') }}
),

vehicle_classes as (
    select vehicle_class from {{ ref('vehicle_classes') }}
    union all
    select '*'
),

defaults as (
    select trigger, parameter, value, unit from definitions
    where vehicle_class = '*'
),

overrides as (
    select trigger, vehicle_class, parameter, value, unit from definitions
    where vehicle_class != '*'
),

resolved as (
    select
        c.vehicle_class,
        d.trigger,
        d.parameter,
        coalesce(o.value, d.value)::double as value,
        d.unit,
        o.value is not null as is_class_override
    from defaults as d
    cross join vehicle_classes as c
    left join overrides as o
        on d.trigger = o.trigger and d.parameter = o.parameter and c.vehicle_class = o.vehicle_class
)

select * from resolved
