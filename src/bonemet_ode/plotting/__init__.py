"""bonemet_ode.plotting"""
