"""The demo province: agencies, units, people in every role, deployed processes and sample documents."""
