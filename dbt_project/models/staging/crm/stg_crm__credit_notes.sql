-- One row per credit note (credit_note_id), the grain its tests hold at error: the first copy (file order). The
-- other copies stay in base_crm__credit_notes, where rpt_data_quality lists them.

{{ one_row_per(ref('base_crm__credit_notes'), ['credit_note_id']) }}
