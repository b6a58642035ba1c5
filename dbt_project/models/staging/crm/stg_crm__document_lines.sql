-- One row per document line (document_type, document_id, line_no), the grain its tests hold at error: the first copy
-- (file order). The other copies stay in base_crm__document_lines, where rpt_data_quality lists them.

{{ one_row_per(ref('base_crm__document_lines'), ['document_type', 'document_id', 'line_no']) }}
