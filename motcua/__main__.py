from motcua.cli import main

main(prog_name="motcua")  # `python -m motcua` shows the same name as the installed command
