-- Where crimes were recorded: counts by H3 hexagon (resolution 7, about 5 km²) for a
-- force over a period, for the density map.
-- Parameters: $force, $from, $to (DATE), $include_types, $exclude_types (as recorded_crime_monthly)
-- Columns:
--   h3_cell  H3 cell index (hex string)
--   crimes   crimes recorded in the cell in the period
select h3_cell, sum(count)::bigint as crimes
from police_uk_hex
where force_code = $force
  and month between $from and $to
  and (len($include_types) = 0 or list_contains($include_types, crime_type))
  and not list_contains($exclude_types, crime_type)
group by h3_cell
order by h3_cell
