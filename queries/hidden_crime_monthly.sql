-- Hidden crimes (one strand): records a month and residents, for a force, each of its
-- CSPs and its unassigned bucket (records with no area or an area not of the force).
-- Parameters:
--   $force       police force area code (e.g. E23000035)
--   $from, $to   first and last month (DATE, first of month), inclusive
--   $strand      domestic_abuse, sexual_offences, stalking_harassment, hate_crime,
--                modern_slavery or child_sexual_abuse
-- The force row is not here: measures.core.pipeline adds it once for every measure, as the sum of these rows.
-- Columns:
--   period_start  first day of the month
--   period_end    last day of the month
--   area_code     CSP code or UNASSIGNED-<force code>
--   area_type     'csp' or 'unassigned'
--   numerator     records in the month (0 where the extract says none)
--   denominator   ONS mid-year residents of the month's year (the latest mid-year for later
--                 months); NULL for the unassigned bucket
--   illustrative  whether any of the month's rows were loaded as illustrative (generated) data
-- Months the extract does not cover have no row; a month the extract covers keeps its
-- zeros. The unassigned bucket has a row only in months with such records.
with monthly as (
    select h.month, h.area_code, a.area_type, sum(h.count) as records,
           bool_or(h.illustrative) as illustrative
    from hidden_crime_monthly h
    join areas a on a.area_code = h.area_code
    where a.force_code = $force
      and h.strand = $strand
      and h.month between $from and $to
    group by h.month, h.area_code, a.area_type
)
select
    w.month as period_start,
    last_day(w.month) as period_end,
    w.area_code,
    w.area_type,
    w.records::double as numerator,
    p.population::double as denominator,
    w.illustrative
from monthly w
left join area_population p  -- the month's mid-year residents; after the latest mid-year, the latest
    on p.area_code = w.area_code
   and p.year = greatest(least(year(w.month), (select max(year) from area_population)),
                         (select min(year) from area_population))
order by period_start, area_type, area_code
