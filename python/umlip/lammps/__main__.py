from umlip.lammps import main

raise SystemExit(main())
