from nosql_advisor.cli import main

main()
