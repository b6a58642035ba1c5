-- A component is either a monthly flow or a month-end balance, never both: fails with the mixed components.
select component
from {{ ref('account_mapping') }}
group by component
having count(distinct measure) > 1
