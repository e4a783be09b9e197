"""Great Expectations suites for the raw layer and the marts, and the code that runs them.

GX's SQL data source fails on DuckDB (results are read after the connection closes), so
batches are pandas DataFrames read from DuckDB, holding only the columns a suite uses.
"""
