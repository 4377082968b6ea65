"""NAVSIM v1.1 PDM score, written from NAVSIM's published definitions (autonomousvision/navsim, tag v1.1).

``fleetloop score --metric navsim-pdms`` scores one trajectory in one scene the way NAVSIM's ``pdm_score`` does:
the trajectory and PDM-Closed's are re-simulated by an LQR tracker on a kinematic bicycle, 4 s at 10 Hz,
then scored for NC, DAC, EP, TTC and C against logged agents to 5 s.
"""
