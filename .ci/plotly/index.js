// The dashboard's plotly.js: the core (which holds the scatter trace) and the bar trace, the
// only trace types analytics_app/dashboard/charts.py draws. Add a trace here before a chart
// uses it (tests/test_plotly_bundle.py checks the two agree).
'use strict';

var Plotly = require('plotly.js/lib/core');

Plotly.register([require('plotly.js/lib/bar')]);

module.exports = Plotly;
