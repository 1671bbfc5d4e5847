"""Reports from the archive: periods (Nghị định 09/2019), Biểu 06 numbers, digitization
and reuse figures, the quarterly Báo cáo and the service indicators (Quyết định 766)."""
