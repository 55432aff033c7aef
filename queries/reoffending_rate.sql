-- Proven reoffending rate: share of a quarterly cohort of offenders (cautioned, convicted
-- or released in the quarter) with a proven reoffence within a year, for a force, each of
-- its CSPs (districts summed) and its unassigned bucket (districts not of the force).
-- Parameters:
--   $force          police force area code (e.g. E23000035)
--   $from, $to      first and last cohort start (DATE), inclusive
--   $offender_type  'adult', 'juvenile' or 'all' (both together)
-- The force row is not here: measures.core.pipeline adds it once for every measure, as the sum of these rows.
-- Columns:
--   period_start  first day of the cohort quarter
--   period_end    last day of the cohort quarter
--   area_code     CSP code or UNASSIGNED-<force code>
--   area_type     'csp' or 'unassigned'
--   numerator     reoffenders (offenders with a proven reoffence)
--   denominator   offenders in the cohort
--   illustrative  whether any of the cohort's rows were loaded as illustrative (generated) data
-- An area with no offenders in a cohort has no row (the rate is undefined).
with cohorts as (
    select r.cohort_start, r.cohort_end, r.area_code, a.area_type,
           sum(r.reoffenders) as reoffenders,
           sum(r.offenders) as offenders,
           bool_or(r.illustrative) as illustrative
    from reoffending_cohorts r
    join areas a on a.area_code = r.area_code
    where a.force_code = $force
      and r.cohort_start between $from and $to
      and ($offender_type = 'all' or r.adult_juvenile = $offender_type)
    group by r.cohort_start, r.cohort_end, r.area_code, a.area_type
)
select
    cohort_start as period_start,
    cohort_end as period_end,
    area_code,
    area_type,
    reoffenders::double as numerator,
    offenders::double as denominator,
    illustrative
from cohorts
where offenders > 0
order by period_start, area_type, area_code
