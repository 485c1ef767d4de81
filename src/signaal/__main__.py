from signaal.cli import main

main()
