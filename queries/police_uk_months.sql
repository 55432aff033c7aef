-- The months of police.uk data published for a force.
-- Parameters: $force
-- Columns: month (DATE, first of month), crimes (all rows, anti-social behaviour included)
select month, sum(count)::bigint as crimes
from police_uk_counts
where force_code = $force
group by month
order by month
