"""Storage: the SQL schema, the SQL Gene Pool and the DB manager's synchronisation with libraries.

models (the tables), schema (the at-head check, data tables), rows (GC row codec), locks (advisory locks),
sql_pool (SQLGenePool, composed of base, bulk, gc_store, statistics, selection, ledger), sync (promote,
pull, archive, prepare).
"""
