# screens/: one file per wizard step (+ home, dashboard), each an init/draw/key trio
