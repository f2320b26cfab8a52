event=start a=1
