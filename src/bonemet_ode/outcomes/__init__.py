"""bonemet_ode.outcomes"""
