"""The Excel 台账: a workflow's ledger written as .xlsx (`gongwen export ledger`: 发文登记簿, 整改台账,
认定名册, or one derived from any definition's fields) and items created from such a sheet
(`gongwen import`), every row checked before anything is created.

columns.py: a definition's ledger (its `ledger:` block, or the generic one) and cell helpers;
export.py: the workbook; xlsx_checks.py: the checks an untrusted .xlsx passes before it is read;
importer.py: rows to items."""
