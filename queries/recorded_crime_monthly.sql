-- Recorded crime from police.uk street-level data: monthly count and residents, for each
-- CSP of a force and its unassigned bucket.
-- Parameters:
--   $force          police force area code (e.g. E23000035)
--   $from, $to      first and last month (DATE, first of month), inclusive
--   $include_types  crime types to count (empty list: all)
--   $exclude_types  crime types to leave out
-- The force row is not here: measures.core.pipeline adds it once for every measure, as the sum of these rows.
-- Columns:
--   period_start  first day of the month
--   period_end    last day of the month
--   area_code     CSP code or UNASSIGNED-<force code>
--   area_type     'csp' or 'unassigned'
--   numerator     crimes recorded in the month
--   denominator   ONS mid-year residents of the month's year (the latest mid-year for later
--                 months); NULL for the unassigned bucket
--   illustrative  false: police.uk is published data, never illustrative
-- A month police.uk published for the force has a row for every CSP and the unassigned
-- bucket (0 where nothing was recorded there); a month it did not publish has no row.
with published_months as (
    select distinct month from police_uk_counts
    where force_code = $force and month between $from and $to
),
force_areas as (
    select area_code, area_type from areas
    where force_code = $force and area_type in ('csp', 'unassigned')
),
counted as (
    select month, area_code, sum(count) as crimes
    from police_uk_counts
    where force_code = $force
      and month between $from and $to
      and (len($include_types) = 0 or list_contains($include_types, crime_type))
      and not list_contains($exclude_types, crime_type)
    group by month, area_code
),
monthly as (
    select m.month, a.area_code, a.area_type, coalesce(c.crimes, 0) as crimes
    from published_months m
    cross join force_areas a
    left join counted c on c.month = m.month and c.area_code = a.area_code
)
select
    w.month as period_start,
    last_day(w.month) as period_end,
    w.area_code,
    w.area_type,
    w.crimes::double as numerator,
    p.population::double as denominator,
    false as illustrative
from monthly w
left join area_population p  -- the month's mid-year residents; after the latest mid-year, the latest
    on p.area_code = w.area_code
   and p.year = greatest(least(year(w.month), (select max(year) from area_population)),
                         (select min(year) from area_population))
order by period_start, area_type, area_code
