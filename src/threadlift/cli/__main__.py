from threadlift.cli import main

main()
