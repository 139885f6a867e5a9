"""bonemet_ode.io"""
