"""KPIs: the rollup, its rules and the grouped reads BI tools and the API ask for."""
