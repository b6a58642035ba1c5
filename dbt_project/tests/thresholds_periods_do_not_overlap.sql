-- Two versions of one threshold must not be valid on the same day: fails with the overlapping pairs.
select earlier.threshold_name, earlier.valid_from, later.valid_from as overlapping_valid_from
from {{ ref('thresholds') }} as earlier
inner join {{ ref('thresholds') }} as later
    on earlier.threshold_name = later.threshold_name
    and later.valid_from > earlier.valid_from
    and (earlier.valid_to is null or earlier.valid_to >= later.valid_from)
