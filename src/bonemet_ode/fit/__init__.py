"""bonemet_ode.fit"""
