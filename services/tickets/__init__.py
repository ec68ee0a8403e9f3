"""tickets: 报事报修 / 随手拍 — resident reports, staff response, SLA clocks, Open311 GeoReport v2."""
