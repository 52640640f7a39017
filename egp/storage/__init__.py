"""Storage: the SQL schema, the SQL Gene Pool and the DB manager's synchronisation with libraries."""
