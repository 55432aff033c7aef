-- ONS police recorded crime by CSP (Tables C2 and C5): one offence group's count and residents, per
-- rolling year, for each CSP of a force and its unassigned bucket.
-- Parameters:
--   $force          police force area code (e.g. E23000035)
--   $from, $to      first and last month (DATE, first of month): rolling years that start in them
--   $offence_group  the ONS offence group, as ons_csp_crime names it (e.g. 'Sexual offences')
-- The force row is not here: measures.core.pipeline adds it once for every measure, as the sum of these rows
-- (ONS's own force row equals that sum: the CSPs and the unassigned bucket add up to the force).
-- Columns:
--   period_start  first day of the rolling year (12 months; editions overlap, e.g. Jan-Dec 2024 and Jul 2024-Jun 2025)
--   period_end    last day of the rolling year
--   area_code     CSP code or UNASSIGNED-<force code>
--   area_type     'csp' or 'unassigned'
--   numerator     crimes ONS recorded in the year (may be negative for a small area: ONS note 3)
--   denominator   residents: mid-year estimate of the year the rolling year is centred on, where
--                 area_population has a `year` column (the latest year it has, if the estimate is not out yet);
--                 else its one population figure (Census 2021). NULL for the unassigned bucket.
--   illustrative  false: the ONS table is published data, never illustrative
-- An area and year ONS gives no figure for ("[x]") has no row: never a 0.
with population as (  -- area_population with or without its `year` column (NULL where it has none)
    select area_code, population, year from (
        select * from area_population
        union all by name
        select null::varchar as area_code, null::bigint as population, null::integer as year where false
    )
),
latest as (select max(year) as max_year, min(year) as min_year from population),
ons as (
    select period_start, period_end, area_code, area_type, count,
           greatest(least(year(period_end) - (month(period_end) < 7)::int, (select max_year from latest)),
                    (select min_year from latest)) as population_year
    from ons_csp_crime
    where pfa_code = $force
      and offence_group = $offence_group
      and area_type in ('csp', 'unassigned')
      and period_start between $from and $to
      and count is not null
)
select
    x.period_start,
    x.period_end,
    x.area_code,
    x.area_type,
    x.count::double as numerator,
    p.population::double as denominator,
    false as illustrative
from ons x
left join population p on p.area_code = x.area_code and coalesce(p.year, x.population_year) = x.population_year
order by period_start, area_type, area_code
