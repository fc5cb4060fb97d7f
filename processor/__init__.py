"""nianbao (年报): collect, check and consolidate the yearly 政府信息公开工作年度报告 of many agencies."""

__version__ = "0.1.0"
