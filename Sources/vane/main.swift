print("vane")
