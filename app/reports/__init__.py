"""Printed registers and reports: the yearly sổ đăng ký of Nghị định 30/2020 Phụ lục IV."""
