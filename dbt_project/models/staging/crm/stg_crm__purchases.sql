-- One row per purchase (purchase_id), the grain its tests hold at error: the first copy (file order). The other
-- copies stay in base_crm__purchases, where rpt_data_quality lists them.

{{ one_row_per(ref('base_crm__purchases'), ['purchase_id']) }}
