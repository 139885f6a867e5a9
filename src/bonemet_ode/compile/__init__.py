"""bonemet_ode.compile"""
